"""Chart analysis over the engine: the indicator catalogue, live (streaming)
indicator values, indicator templates. Qt-free; the chart draws what this computes."""
