"""Reading a spec: YAML, validation, the node graph, blocks and custom layers, the network."""
