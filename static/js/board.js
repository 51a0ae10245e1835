/* Job board: drag a card onto another column (native HTML5 drag and drop). The card's buttons stay
   for the keyboard; a drop fills in the card's hidden .drop-form (or, for a Done card an admin may move
   back, submits its .reopen-form) and htmx posts it, answering the re-rendered board. Moving to Done
   asks first, as the Done button does. */
(function () {
  "use strict";

  var dragged = null;

  function targetsOf(card) {
    return (card.getAttribute("data-drop-targets") || "").split(" ").filter(Boolean);
  }

  function columnsFor(card) {
    var keys = targetsOf(card);
    return Array.prototype.filter.call(document.querySelectorAll(".board-column[data-drop]"), function (column) {
      return keys.indexOf(column.getAttribute("data-drop")) !== -1;
    });
  }

  function clear() {
    document.querySelectorAll(".drop-allowed, .drop-over, .is-dragging").forEach(function (element) {
      element.classList.remove("drop-allowed", "drop-over", "is-dragging");
    });
    dragged = null;
  }

  function allowedColumn(event) {
    if (!dragged || !event.target.closest) return null;
    var column = event.target.closest(".board-column[data-drop]");
    return column && targetsOf(dragged).indexOf(column.getAttribute("data-drop")) !== -1 ? column : null;
  }

  function submit(form) {
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  }

  function drop(card, column) {
    var key = column.getAttribute("data-drop");
    if (card.getAttribute("data-state") === "done") {
      var reopen = card.querySelector("form.reopen-form");
      var button = reopen && reopen.querySelector("[data-confirm]");
      if (reopen && (!button || window.confirm(button.getAttribute("data-confirm")))) submit(reopen);
      return;
    }
    var form = card.querySelector("form.drop-form");
    if (!form) return;
    if (key === "done" && card.hasAttribute("data-done-confirm") &&
        !window.confirm(card.getAttribute("data-done-confirm"))) return;
    form.querySelector('input[name="to"]').value = key;
    var location = card.querySelector('select[name="location"]');
    form.querySelector('input[name="location"]').value = location ? location.value : "";
    submit(form);
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".job-card[draggable=true]");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
    card.classList.add("is-dragging");
    columnsFor(card).forEach(function (column) { column.classList.add("drop-allowed"); });
  });

  document.addEventListener("dragover", function (event) {
    var column = allowedColumn(event);
    if (!column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-over");
  });

  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-over");
  });

  document.addEventListener("drop", function (event) {
    var column = allowedColumn(event);
    if (!column) return;
    event.preventDefault();
    var card = dragged;
    clear();
    drop(card, column);
  });

  document.addEventListener("dragend", clear);
})();
