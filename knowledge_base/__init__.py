"""FAQ knowledge base: approved answers as YAML data, loaded, validated and
searched by sentence embeddings."""
