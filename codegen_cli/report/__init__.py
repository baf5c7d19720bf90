"""`codegen report DIR -o report.html`: one self-contained HTML page of a workdir's or a stage folder's results."""
