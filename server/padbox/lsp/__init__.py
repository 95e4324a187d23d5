"""Language help in pads: one language server per pad and language, fed from the pad's document, shared by
everyone in the pad (docs/pads.md, "Language help")."""
