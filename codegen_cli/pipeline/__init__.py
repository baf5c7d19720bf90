"""`codegen run`: chain the stages from one TOML recipe, skipping stages whose inputs did not change."""
