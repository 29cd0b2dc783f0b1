"""HTTP service: answers questions about the indexed articles with checked citations.

Three parts, and dependencies point one way (api → answering → `index`):

- `api/`: the web layer. The app factory, one router a resource, request and response
  schemas, the Server-Sent Events and OpenAI shapes, the error mapping, the chat page.
- `answering/`: turning passages into cited answers. The extractive backend, the
  generative backend with its verifier, the language-model client, prompts, follow-ups.
- `measure/`: our question sets, the public benchmarks and the latency bench.

`settings.py` holds every `RAG_*` setting; `components.py` builds the heavy parts once
(model, store, retriever, answerer) for the api and the measurements.
"""
