// Pages with nothing of their own: their links keep the town.
import { linkTown } from './portail.js';

linkTown();
