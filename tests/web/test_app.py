"""The application answers: the health check and the front page."""

from kernel import __version__


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": __version__}


def test_front_page_responds(client, make_ticket, agent):
    make_ticket(actor=agent)
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Hookdesk" in response.get_data(as_text=True)


def test_an_unknown_page_is_404(client):
    assert client.get("/no-such-page").status_code == 404
