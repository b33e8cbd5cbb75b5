// What `camscope worker` tells its job processes (./worker-processor.ts) through the environment.

/** The queue's Redis URL. */
export const QUEUE_ENV = "CAMSCOPE_QUEUE";
/** ONNX Runtime threads per process (unset: all cores). */
export const THREADS_ENV = "CAMSCOPE_WORKER_THREADS";
