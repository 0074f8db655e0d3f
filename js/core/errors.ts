// ConvError, the one error type the API throws, and the catalogue of its codes.

/** Every code a ConvError can carry; stable across versions (docs/errors.md lists them). */
export const ErrorCode = {
  /** An op or tensor() was called before init(). */
  NOT_INITIALIZED: "ERR_NOT_INITIALIZED",
  /** init() could not load or instantiate the module, or a requested build is not available here. */
  INIT: "ERR_INIT",
  /** An argument that must be a Tensor is something else. */
  NOT_A_TENSOR: "ERR_NOT_A_TENSOR",
  /** A tensor was used after dispose(). */
  DISPOSED: "ERR_DISPOSED",
  /** Tensors from two different init() instances were mixed in one call. */
  FOREIGN_TENSOR: "ERR_FOREIGN_TENSOR",
  /** A tensor has the wrong number of dimensions. */
  RANK: "ERR_RANK",
  /** Tensor data is not a Float32Array or an array of numbers. */
  DATA_TYPE: "ERR_DATA_TYPE",
  /** Tensor data length differs from the product of the shape. */
  DATA_LENGTH: "ERR_DATA_LENGTH",
  /** A dimension is zero, negative, fractional or not finite. */
  DIMENSION: "ERR_DIMENSION",
  /** A stride is below 1, fractional or not a number. */
  STRIDE: "ERR_STRIDE",
  /** A dilation is below 1, fractional or not a number. */
  DILATION: "ERR_DILATION",
  /** A pad is negative, fractional, malformed or an unknown string. */
  PAD: "ERR_PAD",
  /** groups is not a positive integer dividing both C and F. */
  GROUPS: "ERR_GROUPS",
  /** The weight's channel dimension differs from C / groups. */
  CHANNELS: "ERR_CHANNELS",
  /** The (dilated) kernel is larger than the padded input: Ho or Wo would be < 1. */
  KERNEL_TOO_LARGE: "ERR_KERNEL_TOO_LARGE",
  /** The bias is not a rank-1 tensor of length F. */
  BIAS: "ERR_BIAS",
  /** The output gradient dy does not have the output's shape. */
  GRAD_SHAPE: "ERR_GRAD_SHAPE",
  /** An options object has a key the function does not know. */
  UNKNOWN_OPTION: "ERR_UNKNOWN_OPTION",
  /** An option has a value of the wrong kind. */
  INVALID_OPTION: "ERR_INVALID_OPTION",
  /** The request does not fit in WebAssembly's 4 GiB address space (or the engine refused to grow memory). */
  OUT_OF_MEMORY: "ERR_OUT_OF_MEMORY",
  /** scope() was given a function that returned a Promise. */
  ASYNC_SCOPE: "ERR_ASYNC_SCOPE",
  /** A worker of the thread pool threw or died during an async call, or the pool was terminated. */
  WORKER: "ERR_WORKER",
  /** Class labels of the wrong count, not integers, or outside [0, classes). */
  LABEL: "ERR_LABEL",
  /** Two tensors that must have one shape do not (a loss's pred and target, a residual block's two paths). */
  SHAPE_MISMATCH: "ERR_SHAPE_MISMATCH",
  /** A state dict does not fit the layer: missing, unexpected or wrongly shaped keys, or values that are not tensors. */
  STATE_DICT: "ERR_STATE_DICT",
  /** A model file (safetensors, ONNX) is malformed, truncated, inconsistent or beyond what it may allocate. */
  MODEL_FILE: "ERR_MODEL_FILE",
  /** An ONNX model uses an operator, attribute or form this library does not run (or cannot write); a tfjs kernel call the plugin cannot run where the backend has no kernel of its own. */
  UNSUPPORTED: "ERR_UNSUPPORTED",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ConvErrorDetails {
  /** The argument at fault, as named in the API reference ("x", "options.stride", ...). */
  argument?: string;
  /** What was expected, in words. */
  expected?: string;
  /** What came, in words. */
  received?: string;
  cause?: unknown;
}

/** The error every function of the API throws for bad input; `code` is stable, the message is for people. */
export class ConvError extends Error {
  readonly code: ErrorCode;
  readonly argument: string | undefined;
  readonly expected: string | undefined;
  readonly received: string | undefined;

  constructor(code: ErrorCode, message: string, details: ConvErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ConvError";
    this.code = code;
    this.argument = details.argument;
    this.expected = details.expected;
    this.received = details.received;
  }
}

/** Throws the standard "argument: expected …, received …" ConvError. */
export function fail(code: ErrorCode, where: string, argument: string, expected: string, received: string): never {
  throw new ConvError(code, `${where}: ${argument}: expected ${expected}, received ${received}`, {
    argument, expected, received,
  });
}

/** A short, safe description of any value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : String(value);
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    if (value.length > 8) return `an array of length ${value.length}`;
    return `[${value.map(describe).join(", ")}]`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length ?? value.byteLength})`;
  if (typeof value === "function") return "a function";
  const name = (value as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}
