module github.com/gowsgi/wsgi

go 1.22

require github.com/spf13/pflag v1.1.0 // indirect
