// The words of a grid cell's state in « Mes réservations »: in full (its description, its
// details, a day the period skips) and short (what the cell shows).
const NOT_OFFERED = {
  weekend: 'Week-end',
  public_holiday: 'Jour férié',
  school_holiday: 'Vacances scolaires',
  closure: 'Fermeture',
  not_running_that_day: "Pas de service ce jour-là",
  not_at_site: "Pas sur ce site",
  not_enrolled: 'Pas d’inscription à ce service',
};
const LOCKED = {
  deadline_passed: 'Délai dépassé : contactez le service',
  not_open_yet: 'Pas encore ouvert à la réservation',
  full: 'Complet',
};

/** The short label of a cell's state, as the seed's legend says it. */
export function stateLabel(cell) {
  if (cell.cancelled && cell.state === 'bookable') return cell.waiting_list ? 'Annulée, réservable à nouveau (liste d’attente)' : 'Annulée, réservable à nouveau';
  if (cell.cancelled && cell.state === 'locked') return `Annulée (${(LOCKED[cell.reason] || 'non réservable').toLowerCase()})`;
  switch (cell.state) {
    case 'bookable': return cell.waiting_list ? "Réservable (liste d’attente)" : 'Réservable';
    case 'locked': return LOCKED[cell.reason] || 'Non réservable';
    case 'not_offered': return cell.name ? `${NOT_OFFERED[cell.reason]} (${cell.name})` : NOT_OFFERED[cell.reason] || 'Pas de service';
    case 'pending': return 'Demande en cours';
    case 'confirmed': return 'Demande validée';
    case 'cancel_requested': return "Demande d’annulation";
    case 'refused': return cell.reason ? `Demande refusée : ${cell.reason}` : 'Demande refusée';
    case 'present': return 'Enfant présent';
    case 'absent': return cell.justified ? 'Enfant absent (justifié)' : 'Enfant absent';
    case 'absence_reported': return `Absence signalée : ${cell.reason}`;
    case 'cancelled_by_town': return `Annulé par la commune : ${cell.reason} (non facturé)`;
    default: return '';
  }
}

/** The few words a cell shows (the full text is in its description). */
export function shortLabel(cell) {
  if (cell.cancelled && ['bookable', 'locked'].includes(cell.state)) return 'Annulée';
  switch (cell.state) {
    case 'bookable': return 'Libre';
    case 'locked': return { deadline_passed: 'Délai dépassé', not_open_yet: 'Pas ouvert', full: 'Complet' }[cell.reason] || 'Fermé';
    case 'not_offered': return { weekend: 'Week-end', public_holiday: 'Férié', school_holiday: 'Vacances', closure: 'Fermé' }[cell.reason] || '–';
    case 'pending': return 'En cours';
    case 'confirmed': return 'Validée';
    case 'cancel_requested': return 'Annulation demandée';
    case 'refused': return 'Refusée';
    case 'present': return 'Présent';
    case 'absent': return cell.justified ? 'Absent (justifié)' : 'Absent';
    case 'absence_reported': return 'Absence signalée';
    case 'cancelled_by_town': return 'Annulé par la commune';
    default: return '';
  }
}

/** A booking past its cancellation deadline: it stands, and looks it. */
export const frozen = (cell) => !cell.action && ['confirmed', 'pending', 'absence_reported'].includes(cell.state);
