#!/usr/bin/env node
// The built command line (npm run build first); in the repository, `npm run uws -- …` runs the sources.
import "../dist/bin.js"
