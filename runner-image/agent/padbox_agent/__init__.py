"""The agent and the code it shares with the server.

Standard library only: the runner image has no padbox package.
"""
