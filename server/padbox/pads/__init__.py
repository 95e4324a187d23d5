"""Collaborative pads: a persistent Yjs document (files, language, title) with its edit and run history,
shared by capability links (owner, edit, view). docs/pads.md describes them."""
