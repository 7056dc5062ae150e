#!/usr/bin/env node
// Kept outside dist/ so the file npm links as `kiln` exists (and is executable) before the first build.
import '../dist/bin.js'
