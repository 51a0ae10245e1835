import urllib.request


def fetch(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read().decode()


def test_server_process_serves_the_login_page_and_static_files(server_process):
    # when the real gunicorn process is asked for the login page and the stylesheet
    status, _, body = fetch(server_process + "/accounts/login/")
    css_status, css_type, css = fetch(server_process + "/static/css/portal.css")

    # then both are served
    assert status == 200
    assert '<form method="post" action="/accounts/login/">' in body
    assert 'name="username"' in body
    assert 'name="password"' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert (css_status, css_type.split(";")[0]) == (200, "text/css")
    assert ".board-column" in css
