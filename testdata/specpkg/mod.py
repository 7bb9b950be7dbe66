"""For the spec "specpkg.mod:obj.app": a dotted attribute in a package."""


class _Holder:
    @staticmethod
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"specpkg.mod obj.app"]


obj = _Holder()
