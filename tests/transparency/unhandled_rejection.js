// An unhandled rejected promise ends node with status 1.
Promise.reject(new TypeError("rejected, never handled"));
