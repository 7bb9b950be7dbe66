"""The app of the package example: it says where it is mounted."""


def app(environ, start_response):
    body = "SCRIPT_NAME=%r PATH_INFO=%r\n" % (environ["SCRIPT_NAME"], environ["PATH_INFO"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
