from codegen_cli.cli.app import main

main()
