import { writeGenerated } from './generate.js';

// `npm run monitoring` runs from the repository root.
for (const path of writeGenerated(process.cwd())) console.log(`wrote ${path}`);
