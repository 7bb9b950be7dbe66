"""For the spec "factory:create_app('prod')": an app factory with literal
arguments."""


def create_app(env, debug=False):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("factory env=%s debug=%s" % (env, debug)).encode()]
    return app


not_callable = 42
