/* Inventory Portal: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  /* <button data-confirm="Release J-0001?"> asks before submitting. In a form with checkboxes named
     "ids", "{count}" is the number ticked and "{s}" an "s" unless it is one; with none ticked there is
     nothing to confirm and the server says what to do. */
  function confirmText(trigger) {
    var text = trigger.getAttribute("data-confirm");
    if (text.indexOf("{count}") === -1) return text;
    var form = trigger.form || trigger.closest("form");
    var count = form ? form.querySelectorAll('input[name="ids"]:checked').length : 0;
    if (!count) return null;
    return text.split("{count}").join(String(count)).split("{s}").join(count === 1 ? "" : "s");
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest("[data-confirm]");
    if (!trigger || trigger.disabled) return;
    var text = confirmText(trigger);
    if (text !== null && !window.confirm(text)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* Disable a form's submit buttons once it is submitted: no double posts on slow links. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-allow-resubmit") || form.matches("[hx-post],[hx-get],[hx-put],[hx-patch],[hx-delete]")) return;
    window.setTimeout(function () {
      if (event.defaultPrevented) return;
      form.querySelectorAll("button[type=submit]:not([disabled]), input[type=submit]:not([disabled])").forEach(function (button) {
        button.disabled = true;
        button.setAttribute("data-submitting", "");
      });
    }, 0);
  });

  /* Pages restored from the back/forward cache get their buttons back. */
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-submitting]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("data-submitting");
    });
  });

  /* Column chooser for <table data-columns="inventory">: header cells with data-column="key"
     and body cells with the same data-column can be hidden; the choice is kept per table in
     localStorage. A <details class="column-chooser" data-columns-for="inventory"> receives
     the checkboxes. */
  function storageKey(name) { return "portal.columns." + name; }

  function loadHidden(name) {
    try { return JSON.parse(window.localStorage.getItem(storageKey(name)) || "[]"); }
    catch (error) { return []; }
  }

  function applyHidden(table, hidden) {
    table.querySelectorAll("[data-column]").forEach(function (cell) {
      cell.hidden = hidden.indexOf(cell.getAttribute("data-column")) !== -1;
    });
  }

  function setUpColumns(root) {
    root.querySelectorAll("table[data-columns]").forEach(function (table) {
      var name = table.getAttribute("data-columns");
      var hidden = loadHidden(name);
      applyHidden(table, hidden);
      var chooser = document.querySelector('[data-columns-for="' + name + '"]');
      if (!chooser || chooser.hasAttribute("data-ready")) return;
      chooser.setAttribute("data-ready", "");
      var list = document.createElement("div");
      list.className = "column-options";
      table.querySelectorAll("thead [data-column]").forEach(function (header) {
        var key = header.getAttribute("data-column");
        var label = document.createElement("label");
        var box = document.createElement("input");
        box.type = "checkbox";
        box.checked = hidden.indexOf(key) === -1;
        box.addEventListener("change", function () {
          var current = loadHidden(name).filter(function (k) { return k !== key; });
          if (!box.checked) current.push(key);
          window.localStorage.setItem(storageKey(name), JSON.stringify(current));
          document.querySelectorAll('table[data-columns="' + name + '"]').forEach(function (t) {
            applyHidden(t, current);
          });
        });
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + header.textContent.trim()));
        list.appendChild(label);
      });
      chooser.appendChild(list);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setUpColumns(document); });
  /* Rows swapped in by htmx keep the chosen columns. */
  document.addEventListener("htmx:afterSettle", function () { setUpColumns(document); });

  /* Each message gets a close button. */
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".messages .message").forEach(function (message) {
      var close = document.createElement("button");
      close.type = "button";
      close.className = "message-close";
      close.setAttribute("aria-label", "Dismiss message");
      close.textContent = "×";
      close.addEventListener("click", function () { message.remove(); });
      message.appendChild(close);
    });
  });
})();
