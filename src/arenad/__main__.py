from arenad.cli import main

raise SystemExit(main())
