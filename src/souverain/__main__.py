from souverain.cli.main import main

main()
