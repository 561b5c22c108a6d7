// A worker process for testing the pool: it answers each job according to the job's code:
// "hang" blocks forever, "exit" ends the process, "sleep:MS" answers after MS milliseconds without blocking
// (with the number of batches the worker had received by then), anything else echoes the code back as the
// value. Batches are answered one after the other, in the order received, as the real workers do.
// With the argument "broken" it dies before saying it is ready.
if (process.argv[2] === 'broken') {
  process.stderr.write('cannot start: broken on purpose\n');
  process.exit(3);
}
let received = 0;
let queue = Promise.resolve();
process.on('message', (message) => {
  if (message.type !== 'batch') return;
  received += 1;
  queue = queue.then(async () => {
    const results = [];
    for (const job of message.jobs) {
      if (job.code === 'hang') for (;;) {}
      if (job.code === 'exit') process.exit(7);
      if (job.code.startsWith('sleep:')) {
        await new Promise((resolve) => setTimeout(resolve, Number(job.code.slice('sleep:'.length))));
        results.push({ id: job.id, result: { ok: true, value: JSON.stringify(received) } });
        continue;
      }
      results.push({ id: job.id, result: { ok: true, value: JSON.stringify(job.code) } });
    }
    process.send({ type: 'results', batchId: message.batchId, results });
  });
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
