"""The parts of commlog that the console and the worker share: config, models, states, channels."""
