"""The import pages driven as an editor drives them: upload a file, start it with a column map, read the
report of what became of each line."""

from __future__ import annotations

import csv
import io

from tests.support.web import csrf_token, text_of


def upload(client, content: bytes, name: str = "leser.csv"):
    token = csrf_token(client, "/staff/imports")
    return client.post(
        "/staff/imports",
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def start(client, import_id: int, columns: dict[int, str], **extra):
    url = f"/staff/imports/{import_id}"
    data = {"csrf_token": csrf_token(client, url), "consent": "none", **extra}
    data.update({f"column-{i}": field for i, field in columns.items()})
    return client.post(url, data=data)


def report(client, import_id: int) -> list[list[str]]:
    response = client.get(f"/staff/imports/{import_id}/report.csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(text_of(response).lstrip("\ufeff"))))
