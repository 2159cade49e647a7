// Loaded before every test file: registrations made through @azure/functions are captured, not dropped.
import { installFunctionsCoreCapture } from '../../dev/host/functions-core-capture.js';

installFunctionsCoreCapture();
