export { RegistrationPool, type CarrierAccount, type RegistrarDestination, type RegistrarClient, type RegistrationPoolOptions, type RegistrationSnapshot, type RegistrationState, type RegistrationPoolEvents } from './registration-pool.js';
export { Schedule } from './schedule.js';
export { SipRegistrationError } from './errors.js';
