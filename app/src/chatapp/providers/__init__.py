"""Model providers: OpenAI-compatible servers (aiohttp) and Vertex AI Gemini (google-genai)."""
