from fomo_order.cli import main

main()
