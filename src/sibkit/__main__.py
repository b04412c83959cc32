from sibkit.cli import main

main()
