module github.com/gowsgi/wsgi/examples/deploy

go 1.26.0
