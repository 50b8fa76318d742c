from floorsync.cli import main

raise SystemExit(main())
