"""Sentences the text tests share (test_text.py, distributed_worker.py)."""

# "film" twice in one sentence and in three; "dull" in two
TEXTS = [
    "a gripping , moving film",
    "a dull , boring film !",
    "moving and gripping film film",
    "dull dull film",
    "brilliant",
]
