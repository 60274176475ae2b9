from evalloop.main import main

raise SystemExit(main())
