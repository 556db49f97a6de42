from civeval.cli import main

raise SystemExit(main())
