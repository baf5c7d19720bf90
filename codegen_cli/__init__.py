"""codegen: the CodeGeeX recipe (collect -> tokenize -> train -> eval) as one toolkit."""

__version__ = "0.1.0"
