// A CommonJS callback handler: the result waits for the event loop to
// drain (callbackWaitsForEmptyEventLoop), so "later" is logged first.
exports.handler = (event, context, callback) => {
  setTimeout(() => console.log('later'), 20);
  console.info('object %j\nsecond line', { a: 1 });
  callback(null, {
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    remaining: context.getRemainingTimeInMillis(),
    waits: context.callbackWaitsForEmptyEventLoop,
    trace: process.env._X_AMZN_TRACE_ID,
    executionEnv: process.env.AWS_EXECUTION_ENV,
    event,
  });
};
