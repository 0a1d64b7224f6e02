from flotilla.cli.main import main

main()
