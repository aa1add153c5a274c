"""``multipart/form-data`` as RFC 2046 and RFC 7578 write it, in bodies built by hand."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from test_web import png_bytes
from test_web_memory import _call

from vecmatte.web import create_app
from vecmatte.web._multipart import MultipartError, parse_multipart

CONTENT_TYPE = "multipart/form-data; boundary=x"


def _fields(body: bytes, content_type: str = CONTENT_TYPE) -> dict[str, bytes]:
    return {name: part.data for name, part in parse_multipart(body, content_type).items()}


def test_transport_padding_after_a_boundary_line_is_accepted():
    # RFC 2046 5.1.1: 'dash-boundary transport-padding CRLF', padding = *LWSP-char; the
    # parser required CRLF right after the boundary ("does not start with the boundary").
    body = (
        b"--x \t \r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
        b"--x\t\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n"
        b"--x  \r\nContent-Disposition: form-data; name=c\r\n\r\n3\r\n"
        b"--x-- \t\r\n"
    )
    assert _fields(body) == {"a": b"1", "b": b"2", "c": b"3"}


def test_an_epilogue_is_ignored_even_when_it_holds_the_boundary():
    # Everything after the close delimiter is the epilogue (RFC 2046 5.1.1), to be ignored;
    # an epilogue with the boundary in it was refused ("malformed multipart boundary line"),
    # and its 'parts' must never be read as fields.
    body = (
        b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n"
        b"an epilogue\r\n--x\r\nContent-Disposition: form-data; name=evil\r\n\r\n2\r\n--x--\r\n"
    )
    assert _fields(body) == {"a": b"1"}


def test_a_preamble_and_a_plain_epilogue_are_ignored():
    body = (
        b"This is the preamble.\r\nx--x\r\n"
        b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\nthe end"
    )
    assert _fields(body) == {"a": b"1"}


def test_a_form_without_fields_is_empty_not_malformed():
    # What a browser sends for a form with no field to send (WHATWG); it was refused with
    # "the body does not start with the multipart boundary", which it does.
    assert _fields(b"--x--\r\n") == {}
    assert _fields(b"preamble\r\n--x--") == {}


@pytest.mark.parametrize(
    "parameter, boundary",
    [
        ("boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", "----WebKitFormBoundary7MA4YWxkTrZu0gW"),
        ('boundary="quoted"', "quoted"),
        ("BOUNDARY=CaseKept", "CaseKept"),
        # characters a token cannot hold, so quoted (RFC 2046's bchars, a space inside)
        ('boundary="a\'()+_,-./:=? z"', "a'()+_,-./:=? z"),
        ("boundary=" + "b" * 70, "b" * 70),  # the longest RFC 2046 allows
        ('boundary="' + "q" * 70 + '"; charset=utf-8', "q" * 70),
    ],
)
def test_boundary_parameter_quoted_or_not(parameter, boundary):
    body = f"--{boundary}\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--{boundary}--\r\n"
    assert _fields(body.encode(), f"multipart/form-data; {parameter}") == {"a": b"1"}


@pytest.mark.parametrize(
    "parameter", ["boundary=" + "b" * 71, 'boundary=""', "boundary*=UTF-8''%E2%82%AC"]
)
def test_a_boundary_parameter_out_of_rfc_2046_is_refused(parameter):
    with pytest.raises(MultipartError, match="boundary"):
        parse_multipart(b"--b\r\n", f"multipart/form-data; {parameter}")


@pytest.mark.parametrize(
    "disposition, filename",
    [
        ("filename*=UTF-8''na%C3%AFve%20photo.png", "naïve photo.png"),
        ("filename*=utf-8'fr'%E2%82%AC.png", "€.png"),
        ("filename*=ISO-8859-1''caf%E9.png", "café.png"),
        # RFC 6266 4.3: filename* is preferred when both are given
        ("filename=\"plain.png\"; filename*=UTF-8''na%C3%AFve.png", "naïve.png"),
        ('filename="naïve.png"', "naïve.png"),  # browsers: the name's UTF-8 as it is
    ],
)
def test_file_names_of_rfc_5987_are_decoded_with_their_charset(disposition, filename):
    # The bytes of filename* were taken as Latin-1 whatever its charset said:
    # "naÃ¯ve photo.png" for a UTF-8 name.
    body = (
        f'--x\r\nContent-Disposition: form-data; name="image"; {disposition}\r\n\r\n'
        "data\r\n--x--\r\n"
    ).encode()
    assert parse_multipart(body, CONTENT_TYPE)["image"].filename == filename


def test_a_file_name_of_an_undecodable_charset_is_kept_readable():
    body = (
        b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename*=UTF-8''%FF%FEa.png"
        b"\r\n\r\ndata\r\n--x--\r\n"
    )
    assert parse_multipart(body, CONTENT_TYPE)["image"].filename == "\ufffd\ufffda.png"


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"--x", "truncated"),
        (b"--x \t", "truncated"),
        (b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x-", "truncated"),
        (b"--xy\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--", "boundary line"),
        (b"--x \r \nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--", "boundary line"),
        (b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x!\r\n", "boundary line"),
    ],
)
def test_what_is_still_refused(body, fragment):
    # RFC 2046 5.1.1: a line that begins with the boundary is a boundary line, whatever
    # follows it; one that goes on with other than padding and CRLF (or "--") is malformed.
    with pytest.raises(MultipartError, match=fragment):
        parse_multipart(body, CONTENT_TYPE)


def test_the_server_answers_a_form_with_padding_a_preamble_and_an_epilogue():
    mask = np.zeros((20, 30))
    mask[5:15, 8:22] = 1.0
    body = (
        b"preamble\r\n--x \r\nContent-Disposition: form-data; name=mask; filename=m.png\r\n\r\n"
        + png_bytes(mask)
        + b"\r\n--x\t\r\nContent-Disposition: form-data; name=band\r\n\r\n3\r\n--x--\r\nepilogue"
    )
    status, content = _call(create_app(workers=1), body, CONTENT_TYPE, path="/api/trimap")
    assert status.startswith("200"), content  # old code: 400 malformed form
    trimap = np.asarray(Image.open(io.BytesIO(content)))
    assert trimap.shape == (20, 30) and set(np.unique(trimap)) == {0, 128, 255}


@pytest.mark.parametrize(
    "content_type, disposition",
    [
        ("multipart/form-data; boundary*;boundary*23", "form-data; name=a"),
        (CONTENT_TYPE, "form-data; name*;name*1"),
    ],
)
def test_parameters_the_email_package_cannot_decode_are_a_400(content_type, disposition):
    # email's RFC 2231 decoding raised TypeError on these ('<' between int and None): the
    # answer was a 500 "internal error" and the server's log a traceback, at a client's will.
    body = f"--x\r\nContent-Disposition: {disposition}\r\n\r\n1\r\n--x--\r\n".encode()
    with pytest.raises(MultipartError, match="malformed parameters"):
        parse_multipart(body, content_type)
    errors = io.StringIO()
    status, content = _call(create_app(workers=1), body, content_type, errors=errors)
    assert status.startswith("400"), content  # old code: 500
    assert errors.getvalue() == ""


def test_a_part_whose_headers_are_too_long_is_told_so():
    # It was refused as having "no header/body separator", which it had.
    body = (
        b"--x\r\nContent-Disposition: form-data; name=a\r\n"
        + b"X-Padding: 0123456789\r\n" * 500
        + b"\r\n1\r\n--x--\r\n"
    )
    with pytest.raises(MultipartError, match=r"^a form part's headers are longer than 8192 bytes"):
        parse_multipart(body, CONTENT_TYPE)
    with pytest.raises(MultipartError, match="no header/body separator"):
        parse_multipart(b"--x\r\nContent-Disposition: form-data; name=a\r\n--x--\r\n", CONTENT_TYPE)
