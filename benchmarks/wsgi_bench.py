"""The app as gunicorn serves it, plus a bare route rendering the base layout: the baseline for every benchmark."""

from flask import render_template

from wsgi import app


@app.get("/_bench/bare")
def bench_bare():
    # Same app, same process, no queries: what a page costs before any feature does work.
    return render_template("base.html")
