"""The web app: `python app.py` (or `regqa serve`, or `uvicorn app:app`) serves the Gradio chat at / and the
API at /v1/* on REGQA_HOST:REGQA_PORT (default 127.0.0.1:7860). See assistant/web/."""

from assistant.web import create_app
from common.settings import get_settings

app = create_app(get_settings())

if __name__ == "__main__":
    import uvicorn

    settings = get_settings()
    uvicorn.run(app, host=settings.host, port=settings.port)
