// A worker process for testing the pool: it answers each job according to the job's code:
// "hang" blocks forever, "exit" ends the process, anything else echoes the code back as the value.
// With the argument "broken" it dies before saying it is ready.
if (process.argv[2] === 'broken') {
  process.stderr.write('cannot start: broken on purpose\n');
  process.exit(3);
}
process.on('message', (message) => {
  if (message.type !== 'batch') return;
  const results = [];
  for (const job of message.jobs) {
    if (job.code === 'hang') for (;;) {}
    if (job.code === 'exit') process.exit(7);
    results.push({ id: job.id, result: { ok: true, value: JSON.stringify(job.code) } });
  }
  process.send({ type: 'results', batchId: message.batchId, results });
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
