/** The one number formatter lives in core (so progress labels below report use it too); report sections import it from here. */
export * from '../core/format.js';
