// Static checks for the Dockerfiles: the rules that keep them buildable offline
// (../shared/container/README.md) and the image small and unprivileged.
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
const problems = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const say = (i, msg) => problems.push(`${file}:${i + 1}: ${msg}`);
  lines.forEach((line, i) => {
    if (/^#\s*syntax\s*=/i.test(line)) say(i, 'no "# syntax=" line: it pulls the frontend from a registry');
    const from = /^FROM\s+(\S+)/i.exec(line);
    if (from) {
      const image = from[1];
      if (/alpine/i.test(image)) say(i, `${image}: Alpine images are not buildable here; use a bookworm tag`);
      if (!/bookworm/.test(image) && !lines.slice(0, i).some((l) => new RegExp(`AS\\s+${image}\\b`, 'i').test(l))) say(i, `${image}: pin a Debian bookworm tag`);
    }
    if (/^COPY\s+.*--link/i.test(line)) say(i, 'no COPY --link (old BuildKit)');
    if (/<<-?\s*['"]?[A-Z]+/.test(line) && /^(RUN|COPY)/i.test(line)) say(i, 'no heredocs (old BuildKit)');
    if (/apt-get install/.test(line) && !/--no-install-recommends/.test(line)) say(i, 'apt-get install without --no-install-recommends');
    if (/\bADD\s+https?:/i.test(line)) say(i, 'no remote ADD');
  });
  if (/apt-get install/.test(text) && !/rm -rf \/var\/lib\/apt\/lists/.test(text)) say(0, 'apt lists are left in the image');
  if (!/^HEALTHCHECK\s/m.test(text)) say(0, 'no HEALTHCHECK');
  const lastStage = text.slice(text.search(/^FROM\s[^\n]*$(?![\s\S]*^FROM\s)/m));
  if (file.endsWith('/Dockerfile') && !file.includes('sshd') && !/^USER\s+(?!root\b|0\b)\S+/m.test(lastStage)) say(0, 'the runtime stage runs as root');
}
if (problems.length > 0) {
  process.stderr.write(problems.join('\n') + '\n');
  process.exit(1);
}
process.stdout.write(`dockerfile lint: ${files.length} file(s) ok\n`);
