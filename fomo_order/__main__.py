from fomo_order.cli.main import main

main()
