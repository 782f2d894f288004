// The French words for the API's codes that more than one page (or more than one tab of
// « Espace mairie ») shows, in one place. A page's own words for its own codes stay in the page.

/** A news article's category: the home page and « Actualités » of « Espace mairie ». */
export const NEWS_CATEGORIES = { information: 'Information', fermeture: 'Fermeture', tarifs: 'Tarifs', reglement: 'Règlement' };

/** A booking's status (`status` of GET …/bookings, `from` and `to` of its history) within a
 * sentence: a day's history in « Mes réservations » (« demande en cours → validée »). */
export const BOOKING_STATUSES = {
  pending: 'demande en cours', confirmed: 'validée', cancel_requested: "demande d'annulation",
  refused: 'refusée', cancelled: 'annulée',
};

/** The same in « Espace mairie », a family's bookings under « Statut » and their history, where a
 * request waiting reads « en cours ». */
export const BOOKING_STATUSES_STAFF = { ...BOOKING_STATUSES, pending: 'en cours' };

/** A booking's status once a basket is validated (« Mon panier »), saying what comes next. */
export const BOOKING_STATUSES_VALIDATED = {
  confirmed: 'demande validée',
  pending: 'demande en cours (le service doit la valider)',
  cancel_requested: "demande d'annulation transmise au service",
  cancelled: 'annulée',
};

/** A child's attendance mark, the register's radio buttons (« Pointage »), in their order. */
export const ATTENDANCE_MARKS = [['present', 'Présent'], ['absent', 'Absent'], ['absent_justified', 'Absent justifié']];

/** The same within a sentence or a table cell (a family's bookings in « Familles »). */
export const ATTENDANCE = { present: 'présent', absent: 'absent', absent_justified: 'absence justifiée' };
