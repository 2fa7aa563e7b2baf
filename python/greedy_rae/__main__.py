from greedy_rae.cli import main

raise SystemExit(main())
